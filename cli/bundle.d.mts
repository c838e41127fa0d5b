/** The CLI's esbuild bundle (cli/bundle.mjs): its entry, built first when stale. */
export declare const PROJECT_ROOT: string;
export declare const BUNDLE_DIR: string;
export declare function freshCliBundle(outdir?: string): Promise<string>;
export declare function isStale(outdir?: string): boolean;
export declare function buildCliBundle(outdir?: string): Promise<string>;
