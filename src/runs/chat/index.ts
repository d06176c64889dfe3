/** The chat layer the platform adapters (bots/slack, bots/discord) use. */
export * from "./types.ts";
export * from "./commands.ts";
export * from "./messages.ts";
export { metricChartPng, chartSeries, type MetricChartOptions } from "./chart.ts";
export { NotifyThrottle, notifyKey } from "./notify.ts";
export { ChatController, configuredAdmins, cardRef, type ChatControllerDeps } from "./controller.ts";
export { ChatBridge, chatGroup, type ChatBridgeDeps } from "./bridge.ts";
