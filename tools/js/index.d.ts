// SPDX-License-Identifier: MIT
export interface SpanringLibrary {
  path: string;
  preloaded: boolean;
  enabled(): boolean;
}
export interface SpanringOptions {
  /** A library from load() (default: load()). */
  library?: SpanringLibrary | null;
  /** false: child processes stay under the process span. */
  childProcess?: boolean;
  /** false: connections (net, http, fetch) and DNS look-ups stay under the process span. */
  net?: boolean;
  /** The SDK's current span or trace (default: the SDK's AsyncLocalStorage). */
  getCurrent?: () => { traceId: string; spanId?: string | null } | null;
}
export declare function load(): SpanringLibrary | null;
export declare class SpanringTracingProcessor {
  constructor(options?: SpanringOptions);
  failures: number;
  start(): void;
  onTraceStart(trace: any): Promise<void>;
  onTraceEnd(trace: any): Promise<void>;
  onSpanStart(span: any): Promise<void>;
  onSpanEnd(span: any): Promise<void>;
  shutdown(timeout?: number): Promise<void>;
  forceFlush(): Promise<void>;
}
