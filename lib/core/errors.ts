/**
 * Errors the library raises for bad input. Each names where the problem is (file, row or value) so that a
 * user can fix the input without reading a stack trace.
 *
 * @module
 */

/** Where in a file a problem was found. */
export interface DataLocation {
  /** The file (or folder) being read. */
  file?: string;
  /** 1-based row number as a text editor shows it (the header is row 1), or an image index. */
  row?: number;
  /** Column name, keypoint name or other field. */
  column?: string;
}

/** Bad input data: a malformed CSV row, an image that fails to decode, a landmark file with no image, … */
export class DataError extends Error {
  readonly location: DataLocation;
  constructor(message: string, location: DataLocation = {}) {
    const where = [
      location.file,
      location.row !== undefined ? `row ${location.row}` : undefined,
      location.column !== undefined ? `column ${location.column}` : undefined,
    ].filter(Boolean).join(", ");
    super(where ? `${where}: ${message}` : message);
    this.name = "DataError";
    this.location = location;
  }
}

/** A bad option or argument from the user (an unknown model name, an out-of-range number, …). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
