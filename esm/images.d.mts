export * from '../dist/images/index.js'
