export * from "./errors.ts";
export { Guest, type GuestMode, type GuestOptions } from "./guest.ts";
export { Hypervisor, MAX_FRAMES, type HypervisorOptions, type HypervisorStats } from "./hypervisor.ts";
export { FrameState, MachineMemory, PAGE_SIZE, ZERO_PAGE, SEGMENT_FRAMES, type SharedMemoryHandles } from "./machine-memory.ts";
export { PageTable } from "./page-table.ts";
export { HostPaging, HostStore, type HostStoreValue } from "./host-slots.ts";
