// Where the OHIF viewer shows a study, and how the app opens it.
export const VIEWER_BASE = '/viewer'

/** The modality of whole-slide images (DICOM VL Whole Slide Microscopy). */
export const SLIDE_MODALITY = 'SM'

/** OHIF's mode for studies of these modalities: its microscopy mode (dicom-microscopy-viewer,
 * tiles of a slide's pyramid) when they include whole-slide images, else its basic viewer. */
export function viewerRoute(modalities: readonly string[]): 'microscopy' | 'viewer' {
  return modalities.some((modality) => modality.toUpperCase() === SLIDE_MODALITY)
    ? 'microscopy'
    : 'viewer'
}

/** The modalities of studies as FHIR gives them (ImagingStudy.modality, DICOM codes). */
export function modalitiesOf(
  studies: readonly { modality?: { system?: string; code?: string }[] }[],
): string[] {
  return studies.flatMap((study) => (study.modality ?? []).flatMap((coding) => coding.code ?? []))
}

/** The viewer's page for these studies, in the mode their modalities need. */
export function viewerUrl(studyUids: readonly string[], modalities: readonly string[] = []): string {
  const query = new URLSearchParams({ StudyInstanceUIDs: studyUids.join(',') })
  return `${VIEWER_BASE}/${viewerRoute(modalities)}?${query.toString()}`
}

/** Open the study in the viewer's window (one, reused), keeping this window as its opener:
 * the viewer asks the opener for the login (see bridge.ts). */
export function openInViewer(
  studyUid: string,
  modalities: readonly string[] = [],
  open: (url: string, target: string) => unknown = (url, target) => window.open(url, target),
): void {
  open(viewerUrl([studyUid], modalities), 'yilian-viewer')
}
