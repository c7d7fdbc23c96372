import { ApiError, call } from '../api.js';
import { confirmAction } from '../confirm.js';
import { byId, fill } from '../dom.js';

/** Publishes a test message (JSON, or the text as a JSON string) after confirmation. */
export function setUpPublish(): (topic: string) => void {
  const form = byId<HTMLFormElement>('publish-form');
  const topicInput = byId<HTMLInputElement>('publish-topic');
  const dataInput = byId<HTMLTextAreaElement>('publish-data');
  const priority = byId<HTMLSelectElement>('publish-priority');
  const result = byId('publish-result');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const topic = topicInput.value.trim();
    const text = dataInput.value;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
    const { confirmed } = await confirmAction(`Publish to ${topic} at ${priority.value} priority? Every subscriber of it receives this message.`);
    if (!confirmed) return;
    try {
      const answer = await call<{ offset?: number; duplicate: boolean }>('POST', '/admin/publish', { topic, data, priority: priority.value });
      fill(result, answer.offset === undefined ? `Published to ${topic}.` : `Published to ${topic} at offset ${answer.offset}.`);
    } catch (error) {
      fill(result, `Refused: ${error instanceof ApiError ? error.message : String(error)}`);
    }
  });
  return (topic) => {
    topicInput.value = topic;
  };
}
