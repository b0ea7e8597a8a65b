"""twideploy: infrastructure-as-code for Twilio Studio flows, Functions and phone numbers."""

__version__ = "0.1.0"
