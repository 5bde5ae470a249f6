import { describe, expect, it } from 'vitest'

import { refusal } from './api'
import { cell, entryFrom, formValues, labelOf, SECTIONS, type Registry, type Section } from './registry'

function section(name: string): Section {
  const found = SECTIONS.find((s) => s.name === name)
  if (!found) throw new Error(name)
  return found
}

const registry: Registry = {
  sections: {
    organizations: [{ id: 'tx-wsy', name: '汤溪卫生院' }],
    alliances: [{ id: 'jhzx-ylt', name: '金华医联体', members: ['tx-wsy'] }],
    centres: [],
    ae_titles: [],
    mllp_peers: [],
    api_clients: [],
    users: [],
  },
  manages: { alliances: ['jhzx-ylt'], organizations: ['tx-wsy'] },
  removable: ['ae_titles'],
  choices: { aeKind: [{ code: 'modality', label: '检查设备' }], role: [{ code: 'admin', label: '管理员' }] },
}

describe('the form of an entry', () => {
  it('sends a new AE title with what was filled in, trimmed, and nothing empty', () => {
    const values = formValues(section('ae_titles'), null)
    Object.assign(values, { ae_title: ' TX_US1 ', organization: 'tx-wsy', kind: 'modality' })
    expect(entryFrom(section('ae_titles'), values, null)).toEqual({
      ae_title: 'TX_US1',
      organization: 'tx-wsy',
      kind: 'modality',
    })
  })

  it('keeps the fields the form does not show, and the password when left empty', () => {
    const existing = {
      username: 'qianyu', name: '钱宇', organization: 'tx-wsy', roles: ['clinician'], hasSecret: true,
    }
    const values = formValues(section('users'), existing)
    expect(values.password).toBe('')
    values.roles = ['clinician', 'head']
    expect(entryFrom(section('users'), values, existing)).toEqual({
      username: 'qianyu', name: '钱宇', organization: 'tx-wsy', roles: ['clinician', 'head'],
    })
    const centre = { id: 'c', name: 'C', report_templates: [{ name: 'T' }], serves: ['a'] }
    const edited = entryFrom(section('centres'), { ...formValues(section('centres'), centre), serves: [] }, centre)
    expect(edited.report_templates).toEqual([{ name: 'T' }])
    expect(edited).not.toHaveProperty('serves')
  })

  it('splits scopes on spaces and commas and sends a port as a number', () => {
    const values = { ...formValues(section('api_clients'), null), scopes: 'system/Patient.rs,  system/Observation.rs ' }
    expect(entryFrom(section('api_clients'), values, null).scopes).toEqual(['system/Patient.rs', 'system/Observation.rs'])
    const ae = { ...formValues(section('ae_titles'), null), host: '10.0.0.9', port: 104 }
    expect(entryFrom(section('ae_titles'), ae, null)).toMatchObject({ host: '10.0.0.9', port: 104 })
  })

  it('sends the alliance a new member joins, and never when editing a member', () => {
    const values = { ...formValues(section('organizations'), null), id: 'x', alliance: 'jhzx-ylt' }
    expect(entryFrom(section('organizations'), values, null).alliance).toBe('jhzx-ylt')
    expect(entryFrom(section('organizations'), values, { id: 'x' })).not.toHaveProperty('alliance')
  })
})

describe('table cells', () => {
  it('shows organizations by name and codes by their label', () => {
    const roles = section('users').fields.find((f) => f.name === 'roles')!
    expect(cell(registry, roles, ['admin', 'unknown'])).toBe('管理员、unknown')
    expect(labelOf(registry, 'organizations', 'tx-wsy')).toBe('汤溪卫生院（tx-wsy）')
    expect(labelOf(registry, undefined, 'tx-wsy')).toBe('tx-wsy')
  })
})

describe('a refusal', () => {
  it('carries the alliance file check’s problems as its message', () => {
    const problem = "ae_titles[11] (ae_title TX_CT1): field 'ae_title': duplicate"
    const error = refusal(422, { detail: problem, problems: [problem] }, 'Unprocessable')
    expect(error.problems).toEqual([problem])
    expect(error.message).toBe(problem)
    expect(refusal(403, { detail: 'administrators only' }, 'Forbidden').message).toBe('administrators only')
    expect(refusal(502, null, 'Bad Gateway').message).toBe('Bad Gateway')
  })
})
