import { Bell } from '@element-plus/icons-vue'

import { definePage } from '../../menu'

export default definePage({
  name: 'critical',
  path: '/critical',
  titleKey: 'pages.critical',
  icon: Bell,
  roles: ['clinician', 'head'],
  order: 30,
  component: () => import('./CriticalPage.vue'),
})
