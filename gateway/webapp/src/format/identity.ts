// Identity numbers are shown masked unless the user asks to see one (and that is audited by
// the server when it is asked for): a 居民身份证号 keeps its region (first 6) and last 4.

const RESIDENT_ID = /^(\d{6})(\d{8}|\d{5})(\d{3}[\dXx]|\d{4})$/

/** `330702********1234` for `330702198001011234`; 15-digit numbers likewise; anything else
 * shows only its last 4 characters. */
export function maskIdNumber(value: string | null | undefined): string {
  const text = (value ?? '').replace(/\s+/g, '')
  const match = RESIDENT_ID.exec(text)
  if (match) {
    return `${match[1]}${'*'.repeat(match[2].length)}${match[3].toUpperCase()}`
  }
  if (text.length <= 4) return '*'.repeat(text.length)
  return `${'*'.repeat(text.length - 4)}${text.slice(-4)}`
}
