import { describe, expect, test } from "bun:test";
import { checkShardSet, inListOrder, inShard, parseShard, runsWallClock } from "./shard.ts";

describe("shards", () => {
  test("i/N parses; bad values name the rule", () => {
    expect(parseShard("2/3")).toEqual({ index: 2, count: 3 });
    expect(parseShard(" 1 / 1 ")).toEqual({ index: 1, count: 1 });
    expect(() => parseShard("0/2")).toThrow("--shard 0/2: i must be from 1 to N (2)");
    expect(() => parseShard("3/2")).toThrow("--shard 3/2: i must be from 1 to N (2)");
    expect(() => parseShard("x")).toThrow('--shard must be i/N (e.g. 1/4), got "x"');
    expect(() => parseShard("1/0")).toThrow("N must be from 1 to 1024");
    expect(() => parseShard("1.5/2")).toThrow("must be i/N");
  });

  test("the shards of N partition any list, every N-th position each; wall-clock parts in shard 1", () => {
    for (const n of [1, 2, 3, 5]) {
      const owners = Array.from({ length: 17 }, (_, p) => [1, 2, 3, 4, 5].slice(0, n).filter((i) => inShard(p, { index: i, count: n })));
      expect(owners.every((o) => o.length === 1)).toBe(true);
      expect(owners.map((o) => o[0])).toEqual(Array.from({ length: 17 }, (_, p) => (p % n) + 1));
    }
    expect(inShard(5, undefined)).toBe(true);
    expect([runsWallClock(undefined), runsWallClock({ index: 1, count: 3 }), runsWallClock({ index: 2, count: 3 })]).toEqual([true, true, false]);
  });

  test("a shard set must be 1..N once each; list positions once each", () => {
    const s = (index: number, count = 3) => ({ index, count });
    expect(checkShardSet([s(3), s(1), s(2)], ["c", "a", "b"])).toBe(3);
    expect(() => checkShardSet([s(1), s(3)], ["a", "c"])).toThrow("shard 2/3 missing");
    expect(() => checkShardSet([s(1), s(2), s(2)], ["a", "b", "b2"])).toThrow("shard 2/3 given twice: b and b2");
    expect(() => checkShardSet([s(1), s(2, 2)], ["a", "b"])).toThrow("b is shard 2/2, but a is of 3 shards");
    expect(() => checkShardSet([s(1), undefined], ["a", "full.json"])).toThrow("full.json is not a shard document");
    const held = [{ position: 1, item: "b", from: "y" }, { position: 0, item: "a", from: "x" }];
    expect(inListOrder(held, 2, "run")).toEqual(["a", "b"]);
    expect(() => inListOrder(held, 3, "run")).toThrow("run at position 2 of 3 is in no shard document");
    expect(() => inListOrder([...held, { position: 1, item: "b", from: "z" }], 2, "run")).toThrow("run at position 1 is held twice: by y and z");
  });
});
