import { describe, expect, it } from 'vitest'

import { ID_NUMBER_KEY, PAGE_SIZE, emptyFilters, isResidentId, studyQuery } from './query'
import { dicomDateTime, seriesRow, studyRow } from './rows'

describe('the study search', () => {
  it('asks for the newest page with the browser’s fields when nothing is typed', () => {
    const query = studyQuery(emptyFilters())
    expect(Object.fromEntries(query)).toEqual({
      includefield: '00081030,00100021',
      limit: String(PAGE_SIZE + 1),
      offset: '0',
    })
  })

  it('matches any part of a name unless the person wrote wildcards', () => {
    expect(studyQuery({ ...emptyFilters(), name: ' 三丰 ' }).get('PatientName')).toBe('*三丰*')
    expect(studyQuery({ ...emptyFilters(), name: 'Zhang*' }).get('PatientName')).toBe('Zhang*')
  })

  it('sends a 身份证号 as one, any other ID as the PatientID', () => {
    const byNumber = studyQuery({ ...emptyFilters(), patientId: '33070219800101123x' })
    expect(byNumber.get(ID_NUMBER_KEY)).toBe('33070219800101123X')
    expect(byNumber.has('PatientID')).toBe(false)
    const byId = studyQuery({ ...emptyFilters(), patientId: 'TX000123' })
    expect(byId.get('PatientID')).toBe('TX000123')
    expect(byId.has(ID_NUMBER_KEY)).toBe(false)
    expect(isResidentId('330702800101123')).toBe(true)
    expect(isResidentId('3307021980010112')).toBe(false)
  })

  it('turns modality, date range, organization and paging into QIDO keys', () => {
    const query = studyQuery(
      {
        ...emptyFilters(),
        modality: 'CT',
        dates: ['2026-11-01', '2026-11-30'],
        organization: 'tx-wsy',
      },
      50,
    )
    expect(query.get('ModalitiesInStudy')).toBe('CT')
    expect(query.get('StudyDate')).toBe('20261101-20261130')
    expect(query.get('IssuerOfPatientID')).toBe('tx-wsy')
    expect(query.get('offset')).toBe('50')
  })
})

describe('a row of the study browser', () => {
  const answer = {
    '0020000D': { vr: 'UI', Value: ['1.2.3'] },
    '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Zhang^Sanfeng', Ideographic: '张^三丰' }] },
    '00100020': { vr: 'LO', Value: ['330702198001011232'] },
    '00080020': { vr: 'DA', Value: ['20261101'] },
    '00080030': { vr: 'TM', Value: ['093005.5'] },
    '00080061': { vr: 'CS', Value: ['CT', 'SR'] },
    '00081030': { vr: 'LO', Value: ['胸部CT平扫'] },
    '00100021': { vr: 'LO', Value: ['tx-wsy'] },
    '00201206': { vr: 'IS', Value: [2] },
    '00201208': { vr: 'IS', Value: [40] },
  }

  it('shows the name the Chinese way, the time to the minute, the member and the counts', () => {
    expect(studyRow(answer)).toEqual({
      studyUid: '1.2.3',
      patientName: '张三丰',
      patientId: '330702198001011232',
      sex: '',
      performed: '2026-11-01 09:30',
      modalities: ['CT', 'SR'],
      description: '胸部CT平扫',
      accession: '',
      organization: 'tx-wsy',
      series: 2,
      images: 40,
    })
  })

  it('falls back to the alphabetic name and to the date alone', () => {
    const row = studyRow({
      '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Li^Si' }] },
      '00080020': { vr: 'DA', Value: ['20261101'] },
    })
    expect(row.patientName).toBe('Li Si')
    expect(row.performed).toBe('2026-11-01')
    expect(dicomDateTime('', '0930')).toBe('')
  })

  it('reads a series', () => {
    expect(
      seriesRow({
        '0020000E': { vr: 'UI', Value: ['1.2.3.4'] },
        '00200011': { vr: 'IS', Value: [3] },
        '00080060': { vr: 'CS', Value: ['CT'] },
        '0008103E': { vr: 'LO', Value: ['肺窗'] },
        '00201209': { vr: 'IS', Value: [120] },
      }),
    ).toEqual({
      seriesUid: '1.2.3.4',
      number: '3',
      modality: 'CT',
      description: '肺窗',
      bodyPart: '',
      images: 120,
    })
  })
})
