/** Typed errors. Every operation validates before it changes anything, so a thrown error means "nothing changed". */
export class VmdedupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A value out of range or of the wrong kind: a gfn past the guest, a write past a page, a negative count. */
export class InvalidArgumentError extends VmdedupError {}

/** No free machine frame for an operation that needs one (a CoW break, populate, unshare, unmerge). */
export class OutOfMachineMemoryError extends VmdedupError {
  constructor(
    message: string,
    readonly framesNeeded: number,
    readonly framesFree: number,
  ) {
    super(message);
  }
}

/** A read or write of a page whose frame the hypervisor took (swapped or compressed): bring it back first (hv.host.bringBack). */
export class PageNotPresentError extends InvalidArgumentError {}

/** `hv.audit()` found a broken invariant; the message names the first one. */
export class AuditError extends VmdedupError {}

/** A knob cannot change in the current state (e.g. max_page_sharing while pages are shared). */
export class BusyError extends VmdedupError {}
