/**
 * A pluggable logger: any object with some of these methods (console works, so do pino and winston
 * child loggers). zkwire is silent unless given one.
 */
export interface Logger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  error?(message: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = {};
