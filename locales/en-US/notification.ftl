# Notifications — English (United States). Counterpart: locales/ko/notification.ftl.
# The panel and notification messages themselves (notifications-*, notify-*) are in main.ftl.

## /umbra notifications

notifications-locale-cleared = Umbra will write to you in your server's language, else in English.
notifications-locale-auto = automatic (the server's language, else English)
notifications-button-dms-on = Turn DMs on
notifications-button-dms-off = Turn DMs off
notify-payment-receipt = Payment received for **{ $guild }**: the **{ $plan }** plan, ₩{ $amount }, paid until { $until }. Receipt: { $receipt }
notify-payment-failed = The payment for **{ $guild }**'s **{ $plan }** plan was declined ({ $code }). Umbra tries again in a few days; to use another card, open the Plan page of the dashboard and press Change the card.
notify-subscription-expired = **{ $guild }**'s **{ $plan }** subscription ended after its payments failed; the server is on the default plan now. Subscribe again from the Plan page.
notify-subscription-canceled = **{ $guild }**'s **{ $plan }** subscription ended as you asked; nothing more will be charged.
