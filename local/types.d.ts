declare module 'async-exit-hook' {
  interface AsyncExitHook {
    (hook: (done?: () => void) => void): void;
    unhookEvent(event: string): void;
    hookEvent(event: string, code?: number, filter?: (...args: unknown[]) => boolean): void;
  }
  const hook: AsyncExitHook;
  export default hook;
}
