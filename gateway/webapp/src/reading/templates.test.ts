import { describe, expect, it } from 'vitest'

import { TEMPLATES, templatesFor } from './templates'

describe('report templates', () => {
  it('offers the exam’s own template first', () => {
    expect(templatesFor('头颅CT平扫')[0].key).toBe('head-ct')
    expect(templatesFor('胸部CT平扫')[0].key).toBe('chest-ct')
    expect(templatesFor('胸部DR正位')[0].key).toBe('chest-dr')
    expect(templatesFor('腹部超声')[0].key).toBe('abdomen-us')
  })

  it('offers them all, in their order, for an exam it does not know', () => {
    expect(templatesFor(undefined).map((t) => t.key)).toEqual(TEMPLATES.map((t) => t.key))
    expect(templatesFor('心电图')).toHaveLength(TEMPLATES.length)
  })
})
