import { Box } from '@element-plus/icons-vue'

import { definePage } from '../../menu'

export default definePage({
  name: 'specimens',
  path: '/specimens',
  titleKey: 'specimens.title',
  icon: Box,
  roles: ['clinician', 'reader', 'senior_reader', 'head'],
  order: 28,
  component: () => import('./SpecimensPage.vue'),
})
