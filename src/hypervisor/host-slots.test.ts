import { describe, expect, test } from "bun:test";
import { HostStore, Hypervisor, InvalidArgumentError, PageNotPresentError, PAGE_SIZE } from "./index.ts";

const page = (b: number) => new Uint8Array(PAGE_SIZE).fill(b);

describe("host paging (swap and compression-cache slots)", () => {
  test("a shared frame is taken whole and each page comes back private, exactly as written", () => {
    const hv = new Hypervisor({ frames: 8 });
    const a = hv.createGuest({ pages: 4 });
    const b = hv.createGuest({ pages: 4 });
    a.write(0, 0, page(7));
    b.write(0, 0, page(7));
    hv.share(a, 0, b, 0);
    const f = a.frameOf(0);
    const h = hv.host.takeFrame(f, HostStore.SWAP, PAGE_SIZE);
    expect(hv.host.refs[h]).toBe(2);
    expect(hv.stats()).toMatchObject({ framesUsed: 0, framesFree: 8, populatedPages: 0, swappedPages: 2, swapOuts: 2 });
    expect(() => a.write(0, 0, page(1))).toThrow(PageNotPresentError);
    expect(() => a.read(0)).toThrow(PageNotPresentError);
    hv.audit();
    expect(() => hv.host.bringBack(a, a.slotBase, page(8))).toThrow(/fingerprint/);
    expect(hv.stats().swappedPages).toBe(2); // refused: nothing changed
    hv.host.bringBack(a, a.slotBase, page(7));
    hv.host.bringBack(b, b.slotBase, page(7));
    expect(a.read(0)).toEqual(page(7));
    expect(b.read(0)).toEqual(page(7));
    expect(a.isShared(0)).toBe(false);
    expect(hv.host.sharedSwapInCopies).toBe(1); // the first of the two came back from a 2-mapping slot
    expect(hv.stats()).toMatchObject({ framesUsed: 2, swappedPages: 0, swapIns: 2, populatedPages: 2 });
    hv.audit();
  });

  test("compression cache slots, reserved frames, a discarded compressed page frees its slot", () => {
    const hv = new Hypervisor({ frames: 8 });
    const a = hv.createGuest({ pages: 4 });
    for (let i = 0; i < 3; i++) a.write(i, 0, page(i + 1));
    hv.host.takeFrame(a.frameOf(0), HostStore.CACHE, 1000);
    hv.host.takeFrame(a.frameOf(1), HostStore.CACHE, 1500);
    hv.host.reserveFrames(1);
    expect(hv.stats()).toMatchObject({ compressedPages: 2, cacheBytes: 2500, framesReserved: 1, framesUsed: 1, framesFree: 6 });
    hv.audit();
    a.discard(0, 1);
    expect(hv.stats()).toMatchObject({ compressedPages: 1, cacheBytes: 1500 });
    hv.host.releaseFrames(1);
    expect(() => hv.host.takeFrame(hv.zeroFrame, HostStore.SWAP, 4096)).toThrow(InvalidArgumentError);
    expect(() => hv.host.takeFrame(a.frameOf(2), HostStore.CACHE, 0)).toThrow(InvalidArgumentError);
    hv.audit();
    hv.destroyGuest(a);
    expect(hv.stats()).toMatchObject({ compressedPages: 0, cacheBytes: 0, framesUsed: 0 });
    hv.audit();
  });
});
