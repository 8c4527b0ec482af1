/** Real guest memory in: dump readers, the .vmtrace format, and the sharing analysis. */
export * from "./errors.ts";
export { DUMP_FORMATS, type DumpFormat, type DumpReader, type Extent, type PageSink } from "./dump-file.ts";
export { detectFormat, openDump, type DetectedFormat } from "./open-dump.ts";
export { GuestImage, ImageSink, loadDump, type LoadedDump } from "./guest-image.ts";
export { DigestTable } from "./digest-table.ts";
export { DIGEST_NAME, SIZE_CLASS_CODEC, PAGE_CONTENT, PAGE_UNPOPULATED, PAGE_ZERO, digestPage, isZeroPage, sizeClassOf } from "./page-digest.ts";
export { AnalysisBuilder, analyzeSnapshot, SnapshotCounter, type Analysis, type ChurnPoint, type PageCounts, type SnapshotFigures } from "./analyze.ts";
export { StreamImageBuilder } from "./stream-sink.ts";
export { TraceReader, TraceWriter, VMTRACE_MAGIC } from "./vmtrace.ts";
export { newHeader, checkHeader, HOST_KSM_COUNTERS, HOST_KSM_KNOBS, type HostKsmKnobs, type HostKsmSample, META_NUMBERS, META_STRINGS, VMTRACE_VERSION, type TraceGuest, type TraceHeader, type TraceMeta } from "./vmtrace-header.ts";
export { analyzeDumps, analyzeTrace, importDumps, type ImportGuest } from "./pipeline.ts";
