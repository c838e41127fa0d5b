/*
 * NODE_OPTIONS of the Lambdas, here rather than in functions.ts so the bench runs the
 * sync with exactly what the stack deploys (without loading aws-cdk-lib).
 */

/** Every Lambda: stack traces point into the TypeScript, through the bundled source maps. */
export const NODE_OPTIONS = '--enable-source-maps';

/**
 * Sync workspace: also caps V8's old generation. Its live heap is about 13 MB whatever
 * the workspace's size (one batch and a few pages at a time), but left to its defaults
 * (sized from the 1,024 MB the function is given for CPU) V8 lets garbage pile up
 * before it collects, so the peak RSS grew 1.25x from 10,000 to 100,000 accounts. With
 * a cap it collects sooner and the peak stays flat; the cap is several times the live
 * heap, so a burst of large pages slows the GC rather than failing the invocation.
 */
export const SYNC_HEAP_MB = 96;
export const SYNC_NODE_OPTIONS = `${NODE_OPTIONS} --max-old-space-size=${SYNC_HEAP_MB}`;
