import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { PortalApp } from './portal.js';
import { PORTAL } from './router.js';
import './styles.css';

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(<StrictMode>{PORTAL ? <PortalApp /> : <App />}</StrictMode>);
}
