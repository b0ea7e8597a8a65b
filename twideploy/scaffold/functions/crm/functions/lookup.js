// Looks a caller up in the CRM by phone number.
//
// Called by Studio's Run Function widget (ivr-main, subflows/lookup-caller) with a `from`
// parameter. Answers JSON {known, name, tier}; the IVR branches on `tier` through
// {{widgets.<widget>.parsed.tier}}. Protected: Twilio signs the request, nobody else can call it.
const axios = require('axios');

const UNKNOWN = { known: false, name: '', tier: 'standard' };

exports.handler = async function (context, event, callback) {
  const from = (event.from || event.From || '').trim();
  if (!from) {
    return callback(null, UNKNOWN);
  }
  try {
    const response = await axios.get(`${context.CRM_URL}/customers`, {
      params: { phone: from },
      headers: { Authorization: `Bearer ${context.CRM_TOKEN}` },
      timeout: Number(context.LOOKUP_TIMEOUT_MS || 3000),
    });
    const customer = response.data || {};
    return callback(null, {
      known: Boolean(customer.name),
      name: customer.name || '',
      tier: customer.tier || 'standard',
    });
  } catch (error) {
    if (error.response && error.response.status === 404) {
      return callback(null, UNKNOWN);
    }
    // Anything else takes the widget's `fail` transition; the IVR then carries on without it.
    console.error(`CRM lookup failed: ${error.message}`);
    return callback(error);
  }
};
