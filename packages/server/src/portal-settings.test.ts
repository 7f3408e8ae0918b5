import { describe, expect, it } from 'vitest';
import { parseAccent, parseBrandName, parseFrameAncestors, parseReturnUrl } from './portal-settings.js';

describe('the portal settings', () => {
  it('take origins for frame-ancestors, and nothing that could end the CSP directive', () => {
    expect(parseFrameAncestors("https://app.example.com, http://127.0.0.1:3000 'self'")).toEqual([
      'https://app.example.com',
      'http://127.0.0.1:3000',
      "'self'",
    ]);
    expect(parseFrameAncestors('https://*.example.com')).toEqual(['https://*.example.com']);
    for (const bad of ['', 'https://a.example.com; script-src *', 'https://a.example.com/path', 'javascript:x', '*']) {
      expect(() => parseFrameAncestors(bad), bad).toThrow(RangeError);
    }
    expect(() => parseFrameAncestors("'none' https://a.example.com")).toThrow(/'none'/);
  });

  it('take a hex accent, an http(s) return URL and a short brand name', () => {
    expect(parseAccent('#0B6BCB')).toBe('#0b6bcb');
    expect(() => parseAccent('red; background: url(x)')).toThrow(RangeError);
    expect(parseReturnUrl('https://app.example.com/webhooks')).toBe('https://app.example.com/webhooks');
    expect(() => parseReturnUrl('javascript:alert(1)')).toThrow(RangeError);
    expect(parseBrandName('  Acme  ')).toBe('Acme');
    expect(() => parseBrandName(' ')).toThrow(RangeError);
  });
});
