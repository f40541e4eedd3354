/** When a connection waits before its next read (src/session/read-pacing.ts), as numbers. */
import { describe, expect, it } from "vitest";
import {
  HEADROOM,
  HOLD_MS,
  MIN_IN_FLIGHT,
  RATE_WINDOW_MS,
  ReadPacer,
} from "../../src/session/read-pacing.js";

describe("ReadPacer", () => {
  it(`never waits below ${MIN_IN_FLIGHT} in flight`, () => {
    const pacer = new ReadPacer(0);
    expect(pacer.afterRead(1, 1, MIN_IN_FLIGHT - 1)).toBe(0);
    expect(pacer.afterRead(2, 1, 0)).toBe(0);
  });

  it("never waits after a read that filled the buffer", () => {
    const pacer = new ReadPacer(0);
    expect(pacer.afterRead(1, 40, 1_000, true)).toBe(0);
    expect(pacer.afterRead(2, 3, 1_000, false)).toBe(HOLD_MS);
  });

  it("waits while the reply rate is not yet known, with enough in flight", () => {
    const pacer = new ReadPacer(0);
    expect(pacer.afterRead(1, 2, MIN_IN_FLIGHT)).toBe(HOLD_MS);
    expect(pacer.repliesPerMs).toBe(0);
  });

  it(`waits only while ${HEADROOM} waits' worth of replies are in flight, at the rate of the last window`, () => {
    const pacer = new ReadPacer(0);
    // 100 replies per ms over the first window.
    pacer.afterRead(RATE_WINDOW_MS / 2, 50 * RATE_WINDOW_MS, 1_000);
    expect(pacer.afterRead(RATE_WINDOW_MS, 50 * RATE_WINDOW_MS, 1_000)).toBe(HOLD_MS);
    expect(pacer.repliesPerMs).toBe(100);
    const enough = HEADROOM * HOLD_MS * 100;
    expect(pacer.afterRead(RATE_WINDOW_MS + 1, 10, enough - 1)).toBe(0);
    expect(pacer.afterRead(RATE_WINDOW_MS + 2, 10, enough)).toBe(HOLD_MS);
  });

  it("waits again once the server slows down (the next window's rate)", () => {
    const pacer = new ReadPacer(0);
    pacer.afterRead(RATE_WINDOW_MS, 100 * RATE_WINDOW_MS, 100); // 100 per ms: 100 in flight is too few
    expect(pacer.afterRead(RATE_WINDOW_MS + 1, 1, 100)).toBe(0);
    // The next window: 20 replies over 2 x RATE_WINDOW_MS, 0.5 per ms.
    expect(pacer.afterRead(3 * RATE_WINDOW_MS, 19, 100)).toBe(HOLD_MS);
    expect(pacer.repliesPerMs).toBe(0.5);
  });
});
