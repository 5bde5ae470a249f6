import { Stamp } from '@element-plus/icons-vue'

import { definePage } from '../../menu'

export default definePage({
  name: 'verify',
  path: '/verify',
  titleKey: 'pages.verify',
  icon: Stamp,
  roles: ['senior_reader'],
  order: 15,
  component: () => import('./VerifyPage.vue'),
})
