import { DataAnalysis } from '@element-plus/icons-vue'

import { definePage } from '../../menu'

export default definePage({
  name: 'indicators',
  path: '/indicators',
  titleKey: 'indicators.title',
  icon: DataAnalysis,
  roles: ['head', 'admin'],
  order: 50,
  component: () => import('./IndicatorsPage.vue'),
})
