/**
 * Model fallbacks (`agents.defaults.model.fallbacks`), as OpenClaw runs them: a call that fails
 * before the model produced anything (a refused connection, a 5xx, a 401, an API Pincer cannot
 * drive) goes to the next model of the chain; once any output has streamed, a failure is the
 * turn's failure (the text already shown cannot be taken back). A context overflow is not a
 * provider fault: it goes to the runner, which compacts and retries. An aborted turn stops.
 */
import {
  ContextOverflowError,
  ProviderError,
  type ModelEvent,
  type ModelProvider,
  type ModelRequest,
} from "./types.ts";

export interface ChainLink {
  provider: ModelProvider;
  model: string;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message.split("\n")[0]! : String(err);
}

/** One provider over `chain` (first = the requested model); `onFallback` hears each switch. */
export function withFallbacks(
  chain: readonly ChainLink[],
  onFallback?: (from: string, to: string, err: unknown) => void,
): ModelProvider {
  const first = chain[0]!;
  return {
    name: first.provider.name,
    api: first.provider.api,
    offline: first.provider.offline,
    contextWindow: (model) => first.provider.contextWindow(model),
    async *stream(req: ModelRequest): AsyncIterable<ModelEvent> {
      const failures: string[] = [];
      let last: unknown;
      for (const [i, link] of chain.entries()) {
        let produced = false;
        try {
          for await (const event of link.provider.stream({ ...req, model: i === 0 ? req.model : link.model })) {
            produced = true;
            yield event;
          }
          return;
        } catch (err) {
          if (produced || err instanceof ContextOverflowError || req.abortSignal?.aborted) throw err;
          last = err;
          failures.push(`${link.provider.name}/${i === 0 ? req.model : link.model}: ${describe(err)}`);
          const next = chain[i + 1];
          if (next) onFallback?.(`${link.provider.name}/${link.model}`, `${next.provider.name}/${next.model}`, err);
        }
      }
      if (chain.length === 1) throw last;
      const status = last instanceof ProviderError ? last.status : undefined;
      throw new ProviderError(`every model failed (${failures.join("; ")})`, status, { cause: last });
    },
  };
}
