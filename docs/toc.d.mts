export const TOC_START: string;
export const TOC_END: string;
export const DOCS_DIR: string;
export function headingAnchors(markdown: string): { level: number; text: string; anchor: string }[];
export function tableOfContents(markdown: string): string;
export function withTableOfContents(markdown: string): string;
export function docPages(): string[];
