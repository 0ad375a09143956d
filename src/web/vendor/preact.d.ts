/**
 * Types for htm's Preact standalone bundle (node_modules/htm/preact/standalone.module.js, served
 * as /vendor/preact.js): the few exports the Control UI uses. The bundle ships no .d.ts of its own.
 */
export interface VNode {
  type: unknown;
  props: unknown;
}
export type Child = VNode | string | number | boolean | null | undefined | Child[];
export const html: (strings: TemplateStringsArray, ...values: unknown[]) => VNode;
export function h(type: unknown, props: Record<string, unknown> | null, ...children: unknown[]): VNode;
export function render(tree: VNode, parent: Element): void;
type SetState<S> = (value: S | ((prev: S) => S)) => void;
export function useState<S>(initial: S | (() => S)): [S, SetState<S>];
export function useEffect(effect: () => void | (() => void), deps?: readonly unknown[]): void;
export function useLayoutEffect(effect: () => void | (() => void), deps?: readonly unknown[]): void;
export function useRef<T>(initial: T): { current: T };
export function useMemo<T>(factory: () => T, deps: readonly unknown[]): T;
export function useCallback<T extends (...args: never[]) => unknown>(fn: T, deps: readonly unknown[]): T;
