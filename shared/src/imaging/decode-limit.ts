import { DataError } from './errors.js';

/** 1 GiB: far above any real cardiac volume or slice, far below what a decompression bomb asks for. */
export const DEFAULT_MAX_DECODED_BYTES = 1024 ** 3;

/** How large a compressed image file may become once decoded (NIfTI gunzip, PNG inflate). */
export interface DecodeLimit {
  /** The most bytes one file's pixels may decode to (default 1 GiB); a header that asks for more is refused unread. */
  readonly maxDecodedBytes?: number;
}

/** Refuses, before anything is inflated, a file whose header asks for more decoded bytes than allowed. */
export function checkDecodedSize(bytes: number, limit: DecodeLimit, file: string, what: string): void {
  const max = limit.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES;
  if (!(bytes <= max)) throw new DataError('too-large', file, `${what} would decode to ${bytes} bytes, more than the ${max} allowed (maxDecodedBytes)`);
}
