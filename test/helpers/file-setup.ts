import { afterAll } from 'vitest';
import { runFileCleanups } from './cleanup';

// Registered first, so with the default 'stack' hook order it runs after the file's own afterAll hooks.
afterAll(runFileCleanups);
