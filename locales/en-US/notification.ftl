# Notifications — English (United States). Counterpart: locales/ko/notification.ftl.
# The panel and notification messages themselves (notifications-*, notify-*) are in main.ftl.

## /umbra notifications

notifications-locale-cleared = Umbra will write to you in your server's language, else in English.
notifications-locale-auto = automatic (the server's language, else English)
notifications-button-dms-on = Turn DMs on
notifications-button-dms-off = Turn DMs off
