import { Setting } from '@element-plus/icons-vue'

import { definePage } from '../../menu'

export default definePage({
  name: 'admin',
  path: '/admin',
  titleKey: 'pages.admin',
  icon: Setting,
  roles: ['admin'],
  order: 90,
  component: () => import('./AdminPage.vue'),
})
