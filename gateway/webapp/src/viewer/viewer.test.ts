import { describe, expect, it, vi } from 'vitest'

import { SESSION_PROPERTY, offerSessionToViewers, type ViewerSession } from './bridge'
import { modalitiesOf, openInViewer, viewerRoute, viewerUrl } from './link'

describe('the viewer link', () => {
  it('names the studies in the query, encoded, never a token', () => {
    const url = viewerUrl(['1.2.840.1', '1.2.840.2'])
    expect(url).toBe('/viewer/viewer?StudyInstanceUIDs=1.2.840.1%2C1.2.840.2')
    expect(url).not.toMatch(/token/i)
  })

  it('opens one named viewer window without cutting it from its opener', () => {
    const open = vi.fn()
    openInViewer('1.2.3', ['CT'], open)
    expect(open).toHaveBeenCalledWith('/viewer/viewer?StudyInstanceUIDs=1.2.3', 'yilian-viewer')
  })

  it("opens a whole-slide study in OHIF's microscopy mode", () => {
    const open = vi.fn()
    openInViewer('1.2.3', ['SM'], open)
    expect(open).toHaveBeenCalledWith('/viewer/microscopy?StudyInstanceUIDs=1.2.3', 'yilian-viewer')
  })
})

describe('the mode a study is shown in', () => {
  it('is the microscopy mode when its modalities include slides (SM)', () => {
    expect(viewerRoute(['SM'])).toBe('microscopy')
    expect(viewerRoute(['SR', 'SM'])).toBe('microscopy') // a slide with its annotations
    expect(viewerRoute(['sm'])).toBe('microscopy')
    expect(viewerUrl(['1.2.3'], ['SM'])).toBe('/viewer/microscopy?StudyInstanceUIDs=1.2.3')
  })

  it('is the basic viewer for any other study, or when the modalities are not known', () => {
    expect(viewerRoute(['CT'])).toBe('viewer')
    expect(viewerRoute(['CT', 'SR'])).toBe('viewer')
    expect(viewerRoute(['ECG'])).toBe('viewer')
    expect(viewerRoute([])).toBe('viewer')
    expect(viewerUrl(['1.2.3'])).toBe('/viewer/viewer?StudyInstanceUIDs=1.2.3')
  })

  it("is chosen from an order's ImagingStudies as FHIR gives them", () => {
    const DCM = 'http://dicom.nema.org/resources/ontology/DCM'
    const slide = { modality: [{ system: DCM, code: 'SM' }] }
    const ct = { modality: [{ system: DCM, code: 'CT' }, { system: DCM, code: 'SR' }] }
    expect(modalitiesOf([ct, slide])).toEqual(['CT', 'SR', 'SM'])
    expect(viewerRoute(modalitiesOf([slide]))).toBe('microscopy')
    expect(viewerRoute(modalitiesOf([ct]))).toBe('viewer')
    expect(modalitiesOf([{}, { modality: [{ system: DCM }] }])).toEqual([])
  })
})

describe('the session offered to viewers', () => {
  it('answers the token current at each call (a refresh is seen at once)', () => {
    const target = {} as Window
    let token: string | null = 'first'
    offerSessionToViewers(target, () => token)
    const session = (target as unknown as Record<string, ViewerSession>)[SESSION_PROPERTY]
    expect(session.accessToken()).toBe('first')
    token = 'refreshed'
    expect(session.accessToken()).toBe('refreshed')
    token = null
    expect(session.accessToken()).toBeNull()
  })

  it('cannot be replaced by another script', () => {
    const target = {} as Window
    offerSessionToViewers(target, () => 'mine')
    expect(() => offerSessionToViewers(target, () => 'theirs')).toThrow()
    const session = (target as unknown as Record<string, ViewerSession>)[SESSION_PROPERTY]
    expect(session.accessToken()).toBe('mine')
  })
})
