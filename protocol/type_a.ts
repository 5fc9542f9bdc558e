/**
 * TYPE A (ASCII) line endings (RFC 959 §3.1.1.1): the network form ends
 * lines with CRLF, the local (Unix) form with LF. The converters keep state
 * between chunks, so a CRLF split across two chunks is handled.
 *
 * @module
 */

const CR = 13;
const LF = 10;

/**
 * Converts local text to the network form: every LF not already preceded by
 * CR becomes CRLF.
 *
 * @example
 * ```ts
 * new LfToCrlf().convert(new TextEncoder().encode("a\nb\r\n")); // "a\r\nb\r\n"
 * ```
 */
export class LfToCrlf {
  #lastWasCr = false;

  /** Converts one chunk; the result may be a new array or the input itself. */
  convert(chunk: Uint8Array): Uint8Array {
    if (chunk.length === 0) return chunk;
    if (chunk.indexOf(LF) < 0) {
      this.#lastWasCr = chunk[chunk.length - 1] === CR;
      return chunk;
    }
    const out = new Uint8Array(chunk.length * 2);
    let o = 0;
    let previousCr = this.#lastWasCr;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === LF && !previousCr) out[o++] = CR;
      out[o++] = byte;
      previousCr = byte === CR;
    }
    this.#lastWasCr = previousCr;
    return out.subarray(0, o);
  }
}

/**
 * Converts network text to the local form: CRLF becomes LF; a CR not
 * followed by LF is kept.
 *
 * @example
 * ```ts
 * new CrlfToLf().convert(new TextEncoder().encode("a\r\nb")); // "a\nb"
 * ```
 */
export class CrlfToLf {
  #heldCr = false;

  /** Converts one chunk; a trailing CR is held until the next chunk or {@linkcode CrlfToLf.flush}. */
  convert(chunk: Uint8Array): Uint8Array {
    const out = new Uint8Array(chunk.length + 1);
    let o = 0;
    let i = 0;
    if (this.#heldCr) {
      this.#heldCr = false;
      if (chunk.length > 0 && chunk[0] !== LF) out[o++] = CR;
      if (chunk.length === 0) {
        this.#heldCr = true;
        return out.subarray(0, 0);
      }
    }
    for (; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === CR) {
        if (i + 1 === chunk.length) {
          this.#heldCr = true;
          break;
        }
        if (chunk[i + 1] === LF) continue;
      }
      out[o++] = byte;
    }
    return out.subarray(0, o);
  }

  /** Returns a CR held back at the end of the last chunk, if any. */
  flush(): Uint8Array {
    if (!this.#heldCr) return new Uint8Array(0);
    this.#heldCr = false;
    return Uint8Array.of(CR);
  }
}

/** A TransformStream from local text to network (CRLF) text. */
export function lfToCrlfStream(): TransformStream<Uint8Array, Uint8Array> {
  const converter = new LfToCrlf();
  return new TransformStream({
    transform(chunk, controller) {
      controller.enqueue(converter.convert(chunk));
    },
  });
}

/** A TransformStream from network (CRLF) text to local text. */
export function crlfToLfStream(): TransformStream<Uint8Array, Uint8Array> {
  const converter = new CrlfToLf();
  return new TransformStream({
    transform(chunk, controller) {
      const out = converter.convert(chunk);
      if (out.length > 0) controller.enqueue(out);
    },
    flush(controller) {
      const rest = converter.flush();
      if (rest.length > 0) controller.enqueue(rest);
    },
  });
}
