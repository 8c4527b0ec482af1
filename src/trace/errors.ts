/**
 * Typed errors of the dump readers and the .vmtrace reader/writer. Each names the file, the byte
 * offset where the problem was found and what was expected there, so that a user can look at the
 * file with a hex viewer and see it. They are user mistakes (a bad or unsupported file), never
 * bugs: the CLI prints the message and exits 2, and nothing has been written.
 */
import { VmdedupError } from "../hypervisor/errors.ts";

/** Base of every error about an input or output file of src/trace. */
export class TraceInputError extends VmdedupError {
  constructor(
    readonly file: string,
    /** Byte offset in the file (for a flattened kdump: in the reassembled image), or -1 when not about one place. */
    readonly offset: number,
    readonly expected: string,
    detail?: string,
  ) {
    super(`${file}${offset >= 0 ? ` at offset ${offset}` : ""}: expected ${expected}${detail ? ` (${detail})` : ""}`);
  }
}

/** A memory dump that is not what its format says: truncated, wrong magic, segments past the end, overlaps, bad sizes. */
export class DumpFormatError extends TraceInputError {}

/** A kdump page compressed with a codec this reader does not have (lzo, snappy). */
export class UnsupportedCompressionError extends DumpFormatError {
  constructor(file: string, offset: number, readonly codec: string) {
    super(file, offset, "a page compressed with zlib or zstd, or stored raw", `page compressed with ${codec}, which this reader does not support; re-dump with kdump-zlib or ELF`);
  }
}

/** A .vmtrace file that fails validation (magic, version, checksums, a delta that does not apply). */
export class TraceFormatError extends TraceInputError {}
