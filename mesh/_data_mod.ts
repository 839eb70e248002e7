/**
 * The pure-data layer of `mesh/`: ndslice (extents, points, slices, regions)
 * and the resource protocol's data types (statuses, overlays, ranked values,
 * value meshes, wire messages, the rank-status wait). No processes, no
 * sockets. To be folded into `mesh/mod.ts`.
 *
 * Invariants: ND-1 and ND-7..ND-8 (`region.ts`), ND-2..ND-3 (`slice.ts`),
 * ND-4..ND-6 (`extent.ts`), MS-9..MS-11 (`resource/status.ts`), MS-12
 * (`resource/value_mesh.ts`), MS-13 (`resource/ranked_values.ts`),
 * MS-14..MS-15 (`resource/overlay.ts`), MS-16 (`resource/messages.ts`),
 * MS-17..MS-18 (`resource/rank_status_wait.ts`).
 *
 * @module
 */

export {
  Extent,
  ExtentError,
  type ExtentErrorKind,
  type ExtentJSON,
  NdsliceParseError,
  type NdsliceTextKind,
  Point,
  PointError,
  type PointErrorKind,
} from "../ndslice/extent.ts";
export { Slice, SliceError, type SliceErrorKind, type SliceJSON } from "../ndslice/slice.ts";
export { type RangeSpec, Region, RegionError, type RegionErrorKind } from "../ndslice/region.ts";
export {
  clampMin,
  compareStatus,
  formatElapsed,
  formatStatus,
  isFailure,
  isHealthy,
  isNotExist,
  isStatus,
  isTerminated,
  isTerminating,
  Status,
  STATUS_KINDS,
  type StatusConstructors,
  statusEquals,
  statusKey,
  type StatusKind,
} from "./resource/status.ts";
export {
  applyOverlay,
  OverlayError,
  type OverlayErrorKind,
  type Run,
  StatusOverlay,
  type StatusOverlayJSON,
} from "./resource/overlay.ts";
export {
  type KeyOf,
  type StatusMesh,
  ValueMesh,
  type ValueMeshJSON,
  type ValueMeshOptions,
} from "./resource/value_mesh.ts";
export {
  type RankedGroup,
  RankedGroups,
  RankedValues,
  type RankedValuesOptions,
} from "./resource/ranked_values.ts";
export {
  type CreateOrUpdate,
  formatState,
  type GetRankStatus,
  type GetState,
  type Guard,
  isCreateOrUpdate,
  isGetRankStatus,
  isGetState,
  isKeepaliveGetState,
  isList,
  isResourceMessage,
  isState,
  isStop,
  isStopAll,
  isStreamState,
  isWaitRankStatus,
  type KeepaliveGetState,
  type List,
  type ResourceMessage,
  type State,
  type Stop,
  type StopAll,
  type StreamState,
  type WaitRankStatus,
} from "./resource/protocol.ts";
export {
  OverlayAccumulator,
  type OverlayAccumulatorOptions,
  RankStatusWaitError,
  type RankStatusWaitReason,
  waitRankStatus,
  type WaitRankStatusOptions,
} from "./resource/rank_status_wait.ts";
