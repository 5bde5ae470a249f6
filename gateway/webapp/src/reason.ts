// What went wrong, as a person reads it: the server's message (its OperationOutcome
// diagnostics) or the error's own.  Kept apart from notify.ts, which brings Element Plus's
// message box, so that the app's first script does not load it.
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
