/**
 * Test support for the contract suites (contract.test.ts, mitigation-contract.test.ts): page
 * contents by id, and guest writes mirrored into a shadow copy that reads are checked against.
 */
import { expect } from "bun:test";
import type { Guest } from "../hypervisor/index.ts";

export const PAGE = 4096;

/** A page whose content is determined by `id` (0 = all zeros). */
export function content(id: number): Uint8Array {
  const p = new Uint8Array(PAGE);
  if (id === 0) return p;
  p.fill(id & 0xff);
  new DataView(p.buffer).setUint32(100, id);
  return p;
}

/** A memory-changing step of the property tests. */
export type MemoryOp = { k: "write"; g: number; p: number; c: number } | { k: "byte"; g: number; p: number; v: number } | { k: "discard"; g: number; p: number };

/** Applies `o` to its guest and to the shadow copy (every guest page as it should read). */
export function applyMemoryOp(guests: readonly Guest[], shadow: Uint8Array[][], o: MemoryOp): void {
  if (o.k === "write") {
    guests[o.g]!.write(o.p, 0, content(o.c));
    shadow[o.g]![o.p]!.set(content(o.c));
  } else if (o.k === "byte") {
    guests[o.g]!.write(o.p, 4095, new Uint8Array([o.v]));
    shadow[o.g]![o.p]![4095] = o.v;
  } else {
    guests[o.g]!.discard(o.p);
    shadow[o.g]![o.p]!.fill(0);
  }
}

/** Every guest page reads what the shadow copy holds. */
export function expectShadow(guests: readonly Guest[], shadow: Uint8Array[][]): void {
  for (let g = 0; g < guests.length; g++) for (let p = 0; p < shadow[g]!.length; p++) expect(guests[g]!.read(p)).toEqual(shadow[g]![p]!);
}
