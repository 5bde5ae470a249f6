// Report templates (报告模板): the normal findings and impression of common examinations, a
// starting point the reader edits.  Those whose keywords the exam's name contains come first.
export interface ReportTemplate {
  key: string
  /** Words of the exam's name (e.g. 头颅, CT) that make the template a likely one. */
  keywords: string[]
  findings: string
  impression: string
}

export const TEMPLATES: readonly ReportTemplate[] = [
  {
    key: 'head-ct',
    keywords: ['头颅', '颅脑', 'CT'],
    findings:
      '脑实质内未见异常密度影，灰白质分界清楚。脑室系统未见扩大，脑沟、脑裂未见增宽，中线结构居中。颅骨未见异常。',
    impression: '头颅CT平扫未见明显异常。',
  },
  {
    key: 'chest-ct',
    keywords: ['胸部', '肺', 'CT'],
    findings:
      '两肺纹理清晰，肺野透亮度正常，未见实变及结节影。气管、支气管通畅。纵隔居中，未见肿大淋巴结。心影大小正常。两侧胸腔未见积液。',
    impression: '胸部CT平扫未见明显异常。',
  },
  {
    key: 'chest-dr',
    keywords: ['胸部', '胸片', 'DR', 'X线'],
    findings: '两肺纹理清晰，未见实质性病变。两肺门不大。心影大小、形态正常。两膈面光整，肋膈角锐利。',
    impression: '心肺膈未见明显异常。',
  },
  {
    key: 'abdomen-us',
    keywords: ['腹部', '超声', 'B超', '肝'],
    findings: '肝脏大小、形态正常，包膜光滑，实质回声均匀。胆囊不大，壁光滑。胰腺、脾脏未见异常。双肾大小形态正常。',
    impression: '肝、胆、胰、脾、双肾超声未见明显异常。',
  },
]

/** The templates, those matching more of the exam's words first (a stable order otherwise). */
export function templatesFor(exam: string | undefined): ReportTemplate[] {
  const text = (exam ?? '').toUpperCase()
  const score = (template: ReportTemplate) =>
    template.keywords.filter((word) => text.includes(word.toUpperCase())).length
  return [...TEMPLATES].sort((a, b) => score(b) - score(a))
}
