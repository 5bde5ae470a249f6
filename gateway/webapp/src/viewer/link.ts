// Where the OHIF viewer shows a study, and how the app opens it.
export const VIEWER_BASE = '/viewer'

/** The viewer's page for these studies (OHIF's basic viewer mode). */
export function viewerUrl(studyUids: readonly string[]): string {
  const query = new URLSearchParams({ StudyInstanceUIDs: studyUids.join(',') })
  return `${VIEWER_BASE}/viewer?${query.toString()}`
}

/** Open the study in the viewer's window (one, reused), keeping this window as its opener:
 * the viewer asks the opener for the login (see bridge.ts). */
export function openInViewer(
  studyUid: string,
  open: (url: string, target: string) => unknown = (url, target) => window.open(url, target),
): void {
  open(viewerUrl([studyUid]), 'yilian-viewer')
}
