// The words of remote reading in the app's language: sex, age, the patient in one line.
import { currentLocale, i18n } from '../i18n'
import { ageParts, patientName, timeLeft, type Patient } from './model'

const t = (key: string, values: Record<string, unknown> = {}) => i18n.global.t(key, values)

export function sexLabel(patient: Patient | undefined): string {
  const gender = patient?.gender ?? 'unknown'
  return t(`reading.sex.${['male', 'female', 'other'].includes(gender) ? gender : 'unknown'}`)
}

export function ageLabel(patient: Patient | undefined, now: Date = new Date()): string {
  const age = ageParts(patient?.birthDate, now)
  return age ? t(`reading.age.${age.unit}`, { n: age.value }) : ''
}

/** 张三丰 男 46岁 */
export function patientLine(patient: Patient | undefined, now: Date = new Date()): string {
  if (!patient) return ''
  return [patientName(patient), sexLabel(patient), ageLabel(patient, now)].filter(Boolean).join(' ')
}

/** `3小时5分`, or `超时 25分` when the due time passed. */
export function dueLabel(due: string | undefined, now: number): { text: string; overdue: boolean } {
  const left = timeLeft(due, now, currentLocale())
  if (!left) return { text: '', overdue: false }
  return left.overdue
    ? { text: t('reading.overdueBy', { span: left.text }), overdue: true }
    : left
}
