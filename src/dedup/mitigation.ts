/**
 * Side-channel mitigations: one policy-independent decision object (Mitigation) that every
 * policy is built with (ScannerParts.mitigation). It answers "may these two pages be merged"
 * (salt groups), "may this page be merged at all" (zero-only), and remembers which pages the
 * scanner has considered (vusion, fixed-latency), so the simulator can charge their first access.
 *
 * The channel (security.md): a write to a merged page takes a copy-on-write fault, a write to a
 * private page does not, so a guest that writes a guess of another guest's page and times a write
 * to it learns whether the guess exists elsewhere (CAIN, CVE-2015-2877). The mitigations, each
 * mapped to the real system it stands for:
 *   off            today's behaviour (the default): every policy merges any equal pages.
 *   salted         ESX Mem.ShareForceSalting=2 (KB 2097593): each guest has a salt; pages of
 *                  guests with different salts are never merged, whatever their content. Guests
 *                  get salts round-robin (`saltGroups: N`) or one by one (a list); default one salt
 *                  per guest = intra-VM-only sharing. The zero frame is exempt: zero pages hold no
 *                  secret, so mapping them to the one zero frame (useZeroPages) stays allowed.
 *                  How each policy keeps salts apart:
 *                    - vmdedup, esx: ESX mixes the salt into the page hash, so pages of other
 *                      salts never meet in the index. Modelled as the index key (fingerprint,
 *                      salt): FrameComparer.equal passes over an entry of another salt without a
 *                      byte compare (the bucket probe is still counted as a lookup);
 *                    - ksm: the stable and unstable trees are ordered by (salt, content) instead
 *                      of content: the in-order sequence is the per-salt trees one after the
 *                      other, so every search and merge is the one a salt-keyed forest (one tree
 *                      pair per salt) would make; the only difference is the depth (log2 of all
 *                      nodes, not of the salt's), i.e. a few more node visits counted as lookups.
 *                      FrameComparer.compare orders by salt first (no bytes read when salts differ).
 *                  A frame's salt is its mappers' (rmap head's guest); under salting a shared frame
 *                  only ever holds pages of one salt, which auditSalting checks.
 *   zero-only      only zero pages are merged (Linux use_zero_pages with nothing else, Windows'
 *                  "safe" pages): policies stop after their zero check; useZeroPages is forced on.
 *   vusion         VUsion (SOSP'17): a page the scanner has considered behaves the same merged or
 *                  not: its first access after the visit takes a fault and a page copy either way
 *                  (copy-on-access). The guest side (src/sim) charges that first access a CoW
 *                  break's cost (cowTrap + tlbFlush + pageCopy) when it was not a CoW break anyway;
 *                  reads count as accesses too (readsFault; WorkloadRunner.noteRead is the hook).
 *                  And merged frames come from random free frames: every merge that makes a new
 *                  shared frame (KSM: a new stable node from the unstable tree; vmdedup/esx: an
 *                  index hint becoming a shared entry) passes relocatePick() to hv.shareByHandle,
 *                  which moves the merged page to the free frame at that (seeded) free-list
 *                  position. Joining an existing shared frame does not move it again (it was
 *                  placed at random when it was made).
 *   fixed-latency  the first write after the scanner considered a page pays the CoW cost, merged or
 *                  not (a software stand-in for hardware CoW), for comparison.
 * Deliberate departures: the canned workloads only write, so there vusion's copy-on-access and
 * fixed-latency charge the same faults (a runner that reports reads calls noteRead: vusion
 * charges a read as a first access, fixed-latency does not); the copy VUsion makes of an unmerged
 * page is charged but the page keeps its frame (only merged frames are relocated); the simulated
 * attacker observes time only, never placement.
 *
 * Considered pages: ScannerBase's batch loop calls noteVisit(slot) for every visit when the
 * mitigation tracks visits; the guest side calls takeFirstAccess(slot) before a write.
 */
import { AuditError, FrameState, InvalidArgumentError, type Hypervisor } from "../hypervisor/index.ts";
import { SplitMix32 } from "./esx/sampling.ts";

export const MITIGATIONS = ["off", "salted", "zero-only", "vusion", "fixed-latency"] as const;
export type MitigationKind = (typeof MITIGATIONS)[number];

/** The mitigation of a scanner (ScannerOptions.mitigation). */
export interface MitigationOptions {
  kind: MitigationKind;
  /** salted only: N = guest id mod N; a list = the salt of guest id i at [i]; absent = the guest id (one salt per guest). */
  saltGroups?: number | readonly number[] | null;
}

export type ResolvedMitigation = Readonly<{ kind: MitigationKind; saltGroups: number | readonly number[] | null }>;

/** Checks a mitigation option (a kind name or MitigationOptions); throws InvalidArgumentError. */
export function resolveMitigation(m: MitigationKind | MitigationOptions | undefined): ResolvedMitigation {
  const o: MitigationOptions = m === undefined ? { kind: "off" } : typeof m === "string" ? { kind: m } : m;
  if (!o || typeof o !== "object" || !MITIGATIONS.includes(o.kind))
    throw new InvalidArgumentError(`mitigation must be one of ${MITIGATIONS.join(", ")}, got ${JSON.stringify(typeof m === "object" ? m?.kind : m)}`);
  const g = o.saltGroups ?? undefined;
  if (g !== undefined && o.kind !== "salted") throw new InvalidArgumentError(`saltGroups needs mitigation salted, got ${o.kind}`);
  if (typeof g === "number" && (!Number.isInteger(g) || g < 1 || g > 1 << 20))
    throw new InvalidArgumentError(`saltGroups must be a group count from 1 to ${1 << 20} or a list of group numbers, got ${g}`);
  if (Array.isArray(g)) {
    if (g.length === 0) throw new InvalidArgumentError(`saltGroups list is empty`);
    for (const x of g) if (!Number.isInteger(x) || x < 0 || x >= 1 << 20) throw new InvalidArgumentError(`saltGroups list entries must be integers from 0, got ${x}`);
  } else if (g !== undefined && typeof g !== "number") throw new InvalidArgumentError(`saltGroups must be a number or a list of numbers`);
  return Object.freeze({ kind: o.kind, saltGroups: g === undefined ? null : Array.isArray(g) ? Object.freeze([...g]) : g });
}

/** Checks that a salt-group list gives every one of `guests` guests a group (the caller's guest count). */
export function checkSaltCoverage(m: ResolvedMitigation, guests: number): void {
  const g = m.saltGroups;
  if (Array.isArray(g) && g.length !== guests)
    throw new InvalidArgumentError(`salt groups list has ${g.length} entr${g.length === 1 ? "y" : "ies"} for ${guests} guests: give one group per guest, in guest order`);
}

export class Mitigation {
  readonly kind: MitigationKind;
  /** Pages of different salts are never merged (salted). */
  readonly salted: boolean;
  /** Only zero pages are merged. */
  readonly zeroOnly: boolean;
  /** The scanner's visits are remembered for the guests' first access (vusion, fixed-latency). */
  readonly tracksVisits: boolean;
  /** A read is an access that takes the first-access fault too (vusion's copy-on-access; fixed-latency charges writes only). */
  readonly readsFault: boolean;
  /** New shared frames are moved to a random free frame (vusion): policies pass relocatePick() to hv.shareByHandle. */
  readonly relocatesMerges: boolean;
  /** Free-list picks drawn so far (relocatesMerges): +1 per relocatePick(). */
  relocationsDrawn = 0;
  private readonly rng: SplitMix32;
  private readonly saltGroups: number | readonly number[] | null;
  /** Per slot: 1 from a scanner visit until the page's next guest access (tracksVisits only). */
  private considered = new Uint8Array(0);

  constructor(
    private readonly hv: Hypervisor,
    m: ResolvedMitigation,
    seed = 1,
  ) {
    this.kind = m.kind;
    this.salted = m.kind === "salted";
    this.zeroOnly = m.kind === "zero-only";
    this.tracksVisits = m.kind === "vusion" || m.kind === "fixed-latency";
    this.readsFault = m.kind === "vusion";
    this.relocatesMerges = m.kind === "vusion";
    this.rng = new SplitMix32((seed ^ 0x7a5c1d3b) >>> 0);
    this.saltGroups = m.saltGroups;
  }

  /** The salt of guest `id` (guests past a list get a salt of their own, shared with nobody). */
  saltOfGuest(id: number): number {
    const g = this.saltGroups;
    if (g === null) return id;
    if (typeof g === "number") return id % g;
    return id < g.length ? g[id]! : (1 << 20) + id;
  }

  /** The salt of a frame: its rmap head's guest's (every mapper of a shared frame has the same salt). */
  saltOfFrame(f: number): number {
    const pt = this.hv.pageTable;
    return this.saltOfGuest(pt.slotGuest[this.hv.memory.frameRmapHead[f]!]!);
  }

  /** Salt order of two frames: < 0, 0 (same salt), > 0. */
  saltOrder(a: number, b: number): number {
    return this.saltOfFrame(a) - this.saltOfFrame(b);
  }

  /**
   * The relocatePick argument of a merge that makes a new shared frame: a seeded 32-bit draw
   * (the hypervisor takes it mod the free frames) under vusion, -1 (stay) otherwise.
   */
  relocatePick(): number {
    if (!this.relocatesMerges) return -1;
    this.relocationsDrawn++;
    return this.rng.next();
  }

  /** Notes a scanner visit of `slot` (tracksVisits). */
  noteVisit(slot: number): void {
    if (slot >= this.considered.length) {
      const next = new Uint8Array(Math.max(slot + 1, this.considered.length * 2, 1024));
      next.set(this.considered);
      this.considered = next;
    }
    this.considered[slot] = 1;
  }

  /** Whether this access of `slot` is its first since a scanner visit (then it is no longer). */
  takeFirstAccess(slot: number): boolean {
    if (slot >= this.considered.length || this.considered[slot] === 0) return false;
    this.considered[slot] = 0;
    return true;
  }
}

/**
 * The salting invariant, from scratch: no frame other than the zero frame that holds non-zero
 * bytes is mapped by guests of two salts; under zero-only, no non-zero frame is shared at all.
 * Throws AuditError naming the frame. (Cost: one pass over the frames; tests call it per step.)
 */
export function auditMitigation(hv: Hypervisor, mit: Mitigation): void {
  if (!mit.salted && !mit.zeroOnly) return;
  const m = hv.memory;
  const pt = hv.pageTable;
  for (let f = 0; f < m.frames; f++) {
    if (f === hv.zeroFrame || m.frameState[f] !== FrameState.SHARED || m.isZeroFrameContent(f)) continue;
    if (mit.zeroOnly) throw new AuditError(`mitigation audit: zero-only, but non-zero frame ${f} is shared by ${m.frameRmapHead[f]} and others`);
    const head = m.frameRmapHead[f]!;
    const salt = mit.saltOfGuest(pt.slotGuest[head]!);
    for (let s = pt.slotNext[head]!; s >= 0; s = pt.slotNext[s]!) {
      const other = mit.saltOfGuest(pt.slotGuest[s]!);
      if (other !== salt)
        throw new AuditError(`mitigation audit: frame ${f} (non-zero) is shared across salt groups: slot ${head} (salt ${salt}) and slot ${s} (salt ${other})`);
    }
  }
}
