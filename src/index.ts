/** vmdedup public API: everything other code and outside tests may use. */
export * from "./hypervisor/index.ts";
export * from "./dedup/index.ts";
