// Dates as Chinese hospital staff read them: `2026-12-01 14:05`, in the alliance's time zone
// (not the browser's), to the minute.
export const TIME_ZONE = 'Asia/Shanghai'

const minuteFormat = new Intl.DateTimeFormat('en-CA', {
  timeZone: TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
})

/** `2026-12-01 14:05` for an instant (an ISO 8601 string, a Date or epoch milliseconds);
 * an empty string for nothing or something that is not a time. */
export function formatDateTime(value: string | number | Date | null | undefined): string {
  if (value === null || value === undefined || value === '') return ''
  const instant = value instanceof Date ? value : new Date(value)
  if (Number.isNaN(instant.getTime())) return ''
  const parts = Object.fromEntries(
    minuteFormat.formatToParts(instant).map((part) => [part.type, part.value]),
  )
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`
}

/** A FHIR `date` (`2026-12-01`, `2026-12`, `2026`) shown as it is: it names a day, not an
 * instant, so no time zone applies. */
export function formatDate(value: string | null | undefined): string {
  return value && /^\d{4}(-\d{2}(-\d{2})?)?$/.test(value) ? value : ''
}
