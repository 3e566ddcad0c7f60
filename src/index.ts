export { resilientCache, healthRouter, statsRouter } from './cache.js';
export type { ResilientCache } from './cache.js';
export type { HealthRouterOptions } from './routers/health-router.js';
export type { StatsRouterOptions } from './routers/stats-router.js';
export { CacheConfigError, RedisTimeoutError } from './config/errors.js';
export { DEFAULTS } from './config/options.js';
export type { ResilientCacheOptions, RouteOptions, CachePolicyOptions, TagsOption } from './config/options.js';
export type { Duration, DurationUnit } from './config/duration.js';
export type { GetOrSetOptions } from './values/get-or-set.js';
export type { InvalidateOptions } from './values/invalidation.js';
export type { HealthReport, HealthCheck, HealthStatus } from './observe/health.js';
export type { StatsReport } from './observe/stats-report.js';
export type { SharedStats } from './observe/shared-counters.js';
export type { RedisServerSummary } from './observe/redis-info.js';
export type { NameStats } from './observe/stats.js';
export type { LatencySummary } from './observe/histogram.js';
export type { MetricsRegistry, MetricsOptions } from './observe/metrics.js';
export { telemetryHistograms, TELEMETRY_ATTRIBUTES } from './observe/telemetry.js';
export type {
  TelemetryMeter, TelemetryOptions, TelemetryHistograms, TelemetryHistogramsOptions, TelemetryAttributes, TelemetryObservable,
  TelemetryObservations, TelemetryInstrumentOptions, HistogramCollection, HistogramMetric, HistogramPoint, ProducerResource,
} from './observe/telemetry.js';
export { CHANNEL_NAMES } from './observe/channels.js';
export type {
  LookupMessage, FillStartMessage, FillEndMessage, StoreMessage, DegradedMessage, RecoveredMessage,
} from './observe/channels.js';
