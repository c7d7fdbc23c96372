import { byId, fill, h } from './dom.js';

/**
 * Asks before an action, in the page's own dialog (a native `<dialog>`): resolves true only on Confirm.
 * `field` adds one input (e.g. the fraction of a rebalance), whose value is returned; a checkbox's is
 * `'true'` or `'false'`.
 */
export function confirmAction(text: string, field?: { label: string; value: string; type?: string; min?: string; max?: string; step?: string }): Promise<{ confirmed: boolean; value?: string }> {
  const dialog = byId<HTMLDialogElement>('confirm');
  const input = field === undefined ? undefined : h('input', { id: 'confirm-field', type: field.type ?? 'text', ...(field.min === undefined ? {} : { min: field.min }), ...(field.max === undefined ? {} : { max: field.max }), ...(field.step === undefined ? {} : { step: field.step }) });
  const checkbox = field?.type === 'checkbox';
  if (input !== undefined && field !== undefined) {
    if (checkbox) input.checked = field.value === 'true';
    else input.value = field.value;
  }
  fill(byId('confirm-text'), text);
  fill(byId('confirm-extra'), field === undefined ? undefined : h('label', {}, field.label, ' ', input));
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => resolve({ confirmed: dialog.returnValue === 'ok', ...(input === undefined ? {} : { value: checkbox ? String(input.checked) : input.value }) }),
      { once: true },
    );
  });
}
