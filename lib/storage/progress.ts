/** Progress events of list/download/upload of a prefix (one shape for S3 and the Hub). */
export interface TransferProgress {
  phase: "listing" | "transfer" | "verify" | "done";
  /** The file the event is about (relative path), when there is one. */
  file?: string;
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
}

export type ProgressListener = (progress: TransferProgress) => void;

/** Counts bytes and files over a transfer and reports each change. */
export class ProgressTracker {
  bytesDone = 0;
  filesDone = 0;
  constructor(
    readonly bytesTotal: number,
    readonly filesTotal: number,
    private readonly listener?: ProgressListener,
  ) {}

  emit(phase: TransferProgress["phase"], file?: string): void {
    this.listener?.({ phase, file, bytesDone: this.bytesDone, bytesTotal: this.bytesTotal, filesDone: this.filesDone, filesTotal: this.filesTotal });
  }

  bytes(n: number, file: string): void {
    this.bytesDone += n;
    this.emit("transfer", file);
  }

  fileDone(file: string): void {
    this.filesDone++;
    this.emit("transfer", file);
  }
}
