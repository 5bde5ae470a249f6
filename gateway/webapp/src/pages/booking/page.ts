import { Calendar } from '@element-plus/icons-vue'

import { definePage } from '../../menu'

export default definePage({
  name: 'booking',
  path: '/booking',
  titleKey: 'booking.title',
  icon: Calendar,
  roles: ['clinician', 'head'],
  order: 27,
  component: () => import('./BookingPage.vue'),
})
