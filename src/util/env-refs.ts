/** `${VAR}` inside a config string reads VAR from the environment, so secrets stay out of the file. */
export function expandEnvRefs(value: string, env: NodeJS.ProcessEnv, key: string): string {
  return value.replace(/\$\{([A-Z0-9_]+)\}/gi, (_, name: string) => {
    const v = env[name];
    if (!v) throw new Error(`${key}: environment variable ${name} is not set`);
    return v;
  });
}
