// The runtime logs through a plain function, so it neither depends on pino nor needs a global
// logger; main.ts adapts its pino child logger to this shape.

export type LogLevel = "debug" | "info" | "warn" | "error";

export type LogFn = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

export const silentLog: LogFn = () => undefined;
